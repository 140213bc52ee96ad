from tappass.cli.main import main

main()
