from buildxpy.cli.main import run

run()
