"""Data sources: where files come from (HTTP or a folder) and how each real format is parsed.

- ``sources.base``: the ``Source`` protocol and the fetched-file record.
- ``sources.http`` / ``sources.directory``: the two implementations.
- ``sources.catalog``: which files each source family consists of (URLs, file-name globs).
- ``sources.text``: the shared checks every text file passes (not HTML, not empty, header,
  truncation) and the row splitter that sends malformed rows to quarantine.
- ``sources.cboe``, ``sources.cfe``, ``sources.breadth``, ``sources.fred``: one parser per format.
"""
