"""One module per subcommand: plain, typed orchestration that returns values (no click)."""
