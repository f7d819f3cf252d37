"""Twin stacks of the library cost benchmark: one built with this library, one by hand.

``library.py`` composes QueueWorker, EventBusFanOut and AlarmTopic as the reference stacks do;
``hand_written.py`` defines the same resources with aws-cdk-lib L2 constructs only (it never
imports this library). ``tests/benchmarks/test_twins.py`` keeps the two equal.

Each module's ``main()`` synthesizes its stack in the calling process: the benchmark runs
``python -m benchmarks.twins.<module> <asset folder>`` in a fresh process per run. Both take
the function code folder as an argument, so both deploy the same asset.
"""
