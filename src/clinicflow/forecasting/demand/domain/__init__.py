"""Pure parts of the demand forecast: daily series from booked visits, the catalog's
capacity, the backtest's error measures and the weeks where demand passes capacity."""
