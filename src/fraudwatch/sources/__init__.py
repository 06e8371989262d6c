"""Where transactions come from: the simulator, Kaggle-layout CSV files, the live feed."""
