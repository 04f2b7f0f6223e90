"""A saved session -> one self-contained HTML file.

data   what a report needs, gathered when a checkpoint is saved and read back from it
html   the page             svg  charts and images without a plotting library     style  its stylesheet
"""
