from anbefal.devstack.chaos.table import main

raise SystemExit(main())
