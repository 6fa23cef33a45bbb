"""Three machines tested as three (issue 16): the source, the landing area ("drive"), the data
server and the analytics machine, each in its own network namespace with its own frota
installation, joined by links the test can cut. Run by `scripts/three-hosts.sh`.

Standard library only: it runs on the host's Python, outside every role's virtualenv.
"""
