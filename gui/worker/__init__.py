"""gui/worker"""
