"""The HTML report of a run (``report.html``): maps, charts, tables, methods, sources, warnings.

Example
-------
>>> from ldnkit.report import write_report
>>> write_report("ldnkit-demo/run")                          # doctest: +SKIP
PosixPath('ldnkit-demo/run/report.html')
"""

from ldnkit.report.html import REPORT_NAME, compute_warnings, headline, load_summary, write_report

__all__ = ["REPORT_NAME", "compute_warnings", "headline", "load_summary", "write_report"]
