from bn_migrate.cli import main

raise SystemExit(main())
