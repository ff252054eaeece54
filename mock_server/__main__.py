from mock_server._cli import main

raise SystemExit(main())
