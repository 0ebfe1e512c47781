from feast_federation.cli.commands import main

main()
