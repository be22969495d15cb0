"""One thin script per dashboard page; ``ibkr_desk/app.py`` lists them with ``st.navigation`` (Streamlit does not
auto-discover this folder, unlike ``pages/``)."""
