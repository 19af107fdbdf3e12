from localbook.art.sketch.cli import main

main()
