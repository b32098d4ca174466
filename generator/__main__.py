from generator.main import main

main()
