# HUNER corpora: download, convert, tokenise and split (see issue "HUNER corpora").
# Produces results/huner/{task}/{train,dev,test}.tsv for tasks with source: huner.
