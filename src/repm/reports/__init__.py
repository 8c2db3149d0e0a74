"""What people look at: the self-contained HTML report, its plotly figures and run comparisons."""
