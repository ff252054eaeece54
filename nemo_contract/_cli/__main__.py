from nemo_contract._cli import main

raise SystemExit(main())
