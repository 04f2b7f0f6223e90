"""gui/panels/ocr"""
