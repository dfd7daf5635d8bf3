"""Data sources: where files come from (HTTP or a folder) and how each real format is parsed.

- ``alvh.sources.base``: the ``Source`` protocol and the fetched-file record.
- ``alvh.sources.http`` / ``alvh.sources.directory``: the two implementations.
- ``alvh.sources.catalog``: which files each source family consists of (URLs, file-name globs).
- ``alvh.sources.text``: the shared checks every text file passes (not HTML, not empty, header,
  truncation) and the row splitter that sends malformed rows to quarantine.
- ``alvh.sources.cboe``, ``alvh.sources.cfe``, ``alvh.sources.breadth``, ``alvh.sources.fred``: one parser per format.
"""
