"""What people read: the daily page (:mod:`alvh.report.page`) and the backtest and walk-forward
reports (:mod:`alvh.report.backtest`). Empty on purpose: importing the daily page must not load
the backtest report's plotting stack."""
