"""A langchain retriever over an InMemoryVectorStore with OpenAIEmbeddings, then a chat answer."""

import os

from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

DOCS = [
    "Tides are caused by the gravitational pull of the moon and the sun on the oceans.",
    "Volcanoes erupt when molten rock called magma rises to the surface of the earth.",
    "Photosynthesis lets plants turn sunlight, water and carbon dioxide into sugar.",
    "The stock market is where shares of public companies are bought and sold.",
]

# No tiktoken: it would download its encodings; the texts are short enough to send as they are.
embeddings = OpenAIEmbeddings(model="text-embedding-3-small", check_embedding_ctx_length=False)
store = InMemoryVectorStore.from_texts(DOCS, embeddings)
retriever = store.as_retriever(search_kwargs={"k": 1})
for question in ("What causes ocean tides?", "How do plants use sunlight?", "Why do volcanoes erupt?"):
    top = retriever.invoke(question)[0].page_content
    print(f"{question} -> {top}")

model = ChatOpenAI(model="gpt-4o-mini", base_url=os.environ["OPENAI_BASE_URL"])
context = retriever.invoke("tides")[0].page_content
answer = model.invoke(f"Using this context: {context}\nExplain tides in one sentence.")
print("answer:", bool(answer.content))
