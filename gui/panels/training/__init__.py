"""gui/panels/training"""
