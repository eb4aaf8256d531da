import sys

from gradcheck.cli.main import main

sys.exit(main())
