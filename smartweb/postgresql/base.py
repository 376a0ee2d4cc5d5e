from django.db.backends.postgresql import base, operations

from smartweb.postgresql.schema import DatabaseSchemaEditor


class DatabaseOperations(operations.DatabaseOperations):
    compiler_module = "smartweb.postgresql.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
    ops_class = DatabaseOperations
