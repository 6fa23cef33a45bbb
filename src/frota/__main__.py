from frota.cli import main

main()
