"""Analysis (信息汇总分析): the service figures management decides from, read from every domain
(tickets, calls, chats, knowledge). A read model: no web framework, no adapter, no writes to the
domains it reads."""
