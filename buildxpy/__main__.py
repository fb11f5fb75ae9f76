from buildxpy.cli import main

raise SystemExit(main())
