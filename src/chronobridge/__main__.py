from chronobridge.cli import main

main()
