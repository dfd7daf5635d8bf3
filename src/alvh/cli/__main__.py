"""``python -m alvh.cli``: the ``alvh`` command."""

from alvh.cli import main

if __name__ == "__main__":
    main()
