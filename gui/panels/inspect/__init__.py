"""gui/panels/inspect"""
