"""Data sources: where files come from (HTTP or a folder) and one parser per real format — the
user's files too (positions files in ``sources.positions``; OCC symbols, IBKR Flex positions and
the order basket in ``sources.broker``).

- ``alvh.sources.base``: the ``Source`` protocol and the fetched-file record.
- ``alvh.sources.http`` / ``alvh.sources.directory``: the two implementations.
- ``alvh.sources.catalog``: which files each source family consists of (URLs, file-name globs).
- ``alvh.sources.text``: the shared checks every text file passes (not HTML, not empty, header,
  truncation) and the row splitter that sends malformed rows to quarantine.
- ``alvh.sources.cboe``, ``alvh.sources.cfe``, ``alvh.sources.breadth``, ``alvh.sources.fred``: one parser per format.
"""
