"""The command line's commands: each takes parsed arguments, prints, and returns an exit code.

main.py parses, dispatches and owns the error policy (only an InputError or the OS error of opening a
user's file is "error: ..." with exit 2); the commands here hold the rest, so main.py stays a table.

training   train, gradcheck, autoencoder, report      ocr   ocr, ocr-eval, explain
console    JSON lines and the progress bar
"""
