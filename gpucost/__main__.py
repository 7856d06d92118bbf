from gpucost.cli import main

main()
