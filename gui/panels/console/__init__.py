"""gui/panels/console: the debugged script's output and how it ended"""
