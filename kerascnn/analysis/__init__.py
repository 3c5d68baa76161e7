"""Looking at models and runs: the lecture table (:mod:`.summary`) and figures (:mod:`.plots`)."""
