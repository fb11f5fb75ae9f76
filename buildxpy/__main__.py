from buildxpy.cli import run

run()
