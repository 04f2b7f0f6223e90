"""gui/offscreen"""
