"""Operator commands on the server's database: what a person does to the loader's data between
loads (the quarantine today; the batches and the landing area next).

Every command here is built on the loader's own rules (`frota.load`: the vehicle rule, the
release of held maintenances, the ledger, the engine and the load lock), never a copy of them.
`engine.py` opens the database the way the loader does; one module per command or group.
"""
