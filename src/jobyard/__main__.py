from jobyard.cli.main import main

main()
