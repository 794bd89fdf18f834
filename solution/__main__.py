from solution.cli import main

main()
