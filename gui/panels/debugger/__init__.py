"""gui/panels/debugger"""
