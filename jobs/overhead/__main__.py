from jobs.overhead.workload import main

raise SystemExit(main())
