"""gui/worker/runners"""
