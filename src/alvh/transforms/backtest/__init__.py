"""The backtest (ALVH_METHOD.md §9), pure: the readable replay and its paper book
(:mod:`.readable`, :mod:`.fills`, :mod:`.reference`), the compiled engine
(:mod:`.prep` → :mod:`.kernel` → :mod:`.compiled`), a whole run (:mod:`.run`), its metrics and
event study (:mod:`.metrics`), and the research on top of it (:mod:`.sweep`,
:mod:`.walk_forward`, :mod:`.timing`)."""
