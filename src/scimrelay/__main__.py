from scimrelay.cli import main

main()
