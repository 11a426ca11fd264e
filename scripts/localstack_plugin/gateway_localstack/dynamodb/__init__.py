"""The local DynamoDB (moto) made to stay fast as its tables grow."""
