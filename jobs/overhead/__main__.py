from jobs.overhead import main

raise SystemExit(main())
