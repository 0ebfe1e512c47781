from feast_federation.cli import main

main()
