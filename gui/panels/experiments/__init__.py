"""gui/panels/experiments"""
