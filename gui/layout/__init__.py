"""gui/layout"""
